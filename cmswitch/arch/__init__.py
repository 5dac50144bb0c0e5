"""Hardware presets shipped as package data (TOML files, see cmswitch.hardware)."""
