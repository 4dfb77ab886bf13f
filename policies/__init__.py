"""The CrossGuard policy pack: rules over the resources the program registers, served to the engine by
`__main__.py` and run offline on a synthesized stack by `offline.evaluate`."""
