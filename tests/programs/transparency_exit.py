"""The ways a program ends. argv[1] picks one:

  exit0 / exit5   sys.exit(0) / sys.exit(5) from inside a function
  message         sys.exit("message"): the message on stderr, exit code 1
  raise           an uncaught exception, chained, three frames deep
  end             falls off the end of the file

HOLTER_TEST=1 traces it with holter.trace()."""
import os

if os.environ.get("HOLTER_TEST"):
    import holter
    holter.trace(port=0, quiet=os.environ["HOLTER_TEST"] == "quiet")

import atexit
import sys

atexit.register(lambda: print("atexit handler ran"))


def parse(text):
    return int(text)


def load(values):
    try:
        return [parse(v) for v in values]
    except ValueError as e:
        raise RuntimeError(f"could not load {values!r}") from e


def leave(how):
    print("leaving by", how)
    if how == "exit0":
        sys.exit(0)
    if how == "exit5":
        sys.exit(5)
    if how == "message":
        sys.exit("fatal: the message goes to stderr")
    if how == "raise":
        load(["1", "2", "three"])


leave(sys.argv[1])
print("fell off the end")
