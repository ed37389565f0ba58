from papertrade.cli import main

main()
