"""Layer 3, pure: config x catalog -> what this stack deploys. Every `ConfigError` is raised here or in `model`.
May import `catalog`, `model` and `render`; no Pulumi.
"""
