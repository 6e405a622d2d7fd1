from pipeline.cli.main import cli

cli()
