/* The staff app's scripts: no inline script anywhere (the Content-Security-Policy refuses it). */
