"""What the configs of one study share (its data, its quick runs), so that each config file says
only what its model changes."""
