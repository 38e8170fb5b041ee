# Shortcuts for ./run.sh (which needs only bash, so it works where make is not installed yet).
.PHONY: demo test setup bench
demo:
	./run.sh demo
test:
	./run.sh test
setup:
	./run.sh setup
bench:
	./run.sh bench
