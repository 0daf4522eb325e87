from okr_kpis.main import run

run()
