"""Result objects: what each magic returns, with rich reprs for notebooks and good plain text."""
