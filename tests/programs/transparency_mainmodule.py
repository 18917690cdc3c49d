"""What the program sees of its own __main__ module: the module globals
Python gives a script (or a -m module), and, in an atexit handler after the
last line, its own module still in sys.modules["__main__"], so it can pickle
an instance of its own class (as a program saving its state at exit would).
HOLTER_TEST=1 traces it with holter.trace()."""
print("globals:", sorted(globals()))
print("__package__:", repr(__package__), "__spec__:", __spec__ and __spec__.name,
      "__loader__:", type(__loader__).__name__, "__builtins__:", type(__builtins__).__name__)

import os

if os.environ.get("HOLTER_TEST"):
    import holter
    holter.trace(port=0, quiet=os.environ["HOLTER_TEST"] == "quiet")

import atexit
import pickle
import sys


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


state = Point(3, 4)


def save_state():
    main = sys.modules["__main__"]
    print("at exit, __main__ is the program:", getattr(main, "state", None) is state)
    try:
        copy = pickle.loads(pickle.dumps(state))
        print("state pickled at exit:", copy.x, copy.y)
    except Exception as e:
        print("state not pickled at exit:", type(e).__name__)


atexit.register(save_state)
print("during the run, __main__ is the program:", sys.modules["__main__"].state is state)
print("state pickled during the run:", pickle.loads(pickle.dumps(state)).x)
