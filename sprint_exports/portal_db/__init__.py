"""The portal's own database: API tokens, sessions, sign-in links, downloads, subscriptions, user templates.

It sits outside both doors (`cli/` and `portal/`) because both use it: the CLI
makes tokens, the portal checks them, and the Dagster shell's subscription
sensor reads subscriptions. It never imports Dagster.
"""
