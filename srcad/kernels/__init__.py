"""Functions that generated code calls for the derivative rules (pure NumPy; the rule
templates in srcad.transforms.rules name them). They import nothing of srcad but its errors."""
