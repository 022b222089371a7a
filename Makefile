# Thin shortcuts for the scripts in infra/scripts (the README uses the scripts).
.PHONY: up down status logs test

up:
	infra/scripts/dev.sh up

down:
	infra/scripts/dev.sh down

status:
	infra/scripts/dev.sh status

logs:
	infra/scripts/dev.sh logs

test:
	bash infra/scripts/test.sh
