"""Every AWS call ecrgen makes lives in this package; the core never imports it."""
