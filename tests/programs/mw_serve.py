"""mw_flask under werkzeug's threaded server, with a thread that keeps
busy_handler on the CPU: the mounted page (/_holter/) has a profile to show.
Prints {"url": ...} and serves until stdin closes or says "quit"."""
import json
import sys
import threading

from werkzeug.serving import make_server

import mw_flask


def spin():
    while True:
        mw_flask.busy_handler(0.05)


server = make_server("127.0.0.1", 0, mw_flask.create_app(secret="s3cret", interval=0.005),
                     threaded=True)
threading.Thread(target=spin, name="spinner", daemon=True).start()
threading.Thread(target=server.serve_forever, name="server", daemon=True).start()
print(json.dumps({"url": f"http://127.0.0.1:{server.server_port}/"}), flush=True)
for line in sys.stdin:
    if line.strip() == "quit":
        break
server.shutdown()
