"""mw_flask for uWSGI (--wsgi-file), which cannot call a factory."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mw_flask  # noqa: E402

application = mw_flask.create_app()
