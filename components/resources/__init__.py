"""Layer 4: the Pulumi ComponentResources. Their type tokens are part of every URN and never change."""
