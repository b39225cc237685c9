"""Adapters: concrete technology behind the application's ports. Only the composition root
(``regenzet.entrypoints.container``) imports them."""
