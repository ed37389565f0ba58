from papertrade.console import main

main()
