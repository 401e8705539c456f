"""Wrong answers to notebook 07's exercise (a step that reads --lab-level)."""

WRONG = {
    1: [
        (
            "types in the level from the instructions instead of reading the option",
            '''
class LevelStep(bootsteps.Step):
    def __init__(self, parent, **options):
        super().__init__(parent, **options)
        emit("level", level=3)
''',
            "report the lab_level it receives",
        ),
        (
            "names the keyword argument after the flag's help, so it keeps its default",
            '''
class LevelStep(bootsteps.Step):
    def __init__(self, parent, level=1, **options):
        super().__init__(parent, **options)
        emit("level", level=level)
''',
            "take the keyword argument lab_level",
        ),
        (
            "looks the option up under its command-line spelling",
            '''
class LevelStep(bootsteps.Step):
    def __init__(self, parent, **options):
        super().__init__(parent, **options)
        emit("level", level=options.get("lab-level"))
''',
            "report the lab_level it receives",
        ),
    ],
}
