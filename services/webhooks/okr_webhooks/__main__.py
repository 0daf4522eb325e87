from okr_webhooks.main import run

run()
