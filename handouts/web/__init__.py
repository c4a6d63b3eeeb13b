"""The staff web app (Django): the library, one patient's consent form, the reviewer's and the print shop's
pages, and the public page each QR code opens. It calls the pipeline (handouts.builder), never a copy of it."""
