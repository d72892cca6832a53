from elevate_cli.app import main

main()
