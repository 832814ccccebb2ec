from factfinder.cli import run

run()
