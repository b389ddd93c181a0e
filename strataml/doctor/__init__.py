"""`strataml doctor`: rules yield findings about a Workspace; reporters render them."""
