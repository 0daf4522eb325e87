from okr_progress.main import run

run()
