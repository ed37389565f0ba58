from papertrade.cli.app import main

main()
