from okr_objectives.main import run

run()
