from okr_cli.app import main

main()
