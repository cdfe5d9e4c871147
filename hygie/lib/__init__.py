"""Pure logic with no Django import: the easiest code to test and to review."""
