"""The reference system's training job (``python -m fraud.train``) and its serving handler (``fraud.serve``)."""
