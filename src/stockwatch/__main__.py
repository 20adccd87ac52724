from stockwatch.cli.entry import main

if __name__ == "__main__":  # a guard, since read-ahead processes import this module
    main()
