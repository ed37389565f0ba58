"""The parts of Rich progress bars papertrade draws on a terminal, written with the one number
format of every summary line (4,000/39,813 rather than Rich's 4000/39813)."""

from rich.progress import ProgressColumn, Task
from rich.text import Text

from papertrade.domain.numbers import count


class CountColumn(ProgressColumn):
    """Done and total, with thousands separators ("?" while the total is unknown)."""

    def render(self, task: Task) -> Text:
        """`4,000/39,813` for a task 4,000 steps into 39,813."""
        total = "?" if task.total is None else count(int(task.total))
        return Text(f"{count(int(task.completed))}/{total}", style="progress.download")
