"""Adapters: concrete technology behind the application's ports. Only the composition root
(``regenzet.entrypoints.bootstrap``) imports them (and the email Lambda its renderer)."""
