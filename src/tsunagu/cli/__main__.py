from tsunagu.cli.main import run

run()
