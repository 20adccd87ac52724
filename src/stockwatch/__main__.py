from stockwatch.cli.main import main

main()
