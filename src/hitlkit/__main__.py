"""`python -m hitlkit`: the `hitl` command, where the PATH does not find its script."""

from hitlkit._cli import main

main()
