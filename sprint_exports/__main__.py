from sprint_exports.cli import main

main()
