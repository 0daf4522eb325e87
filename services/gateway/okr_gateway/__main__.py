from okr_gateway.main import run

run()
