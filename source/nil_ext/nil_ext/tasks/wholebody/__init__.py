"""NIL whole-body tasks: sit on a chair, hang on a bar, balance on a board, imitating a reference video."""
