"""nbval checks the English edition of each lesson only (`pytest --nbval lessons`).

The bilingual sources (lessons/src, stored without outputs) and the Japanese edition
(lessons/ja) share their code cells and outputs with it; tests/test_editions.py proves that.
"""

collect_ignore = ["src", "ja"]
