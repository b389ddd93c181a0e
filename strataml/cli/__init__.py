"""Click commands only: parse options, call one function, render, return an exit code."""
