# nbgrader looks for its configuration in the folder it runs from; the course's lives in autograder/.
load_subconfig("autograder/nbgrader_config.py")  # noqa: F821
