"""What a workspace holds, written in other ecosystems' formats: one module per format, each
built on that ecosystem's own package (an extra, imported only when its export runs)."""
