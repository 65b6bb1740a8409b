"""Operations commands (not stages of the chain); `python -m pipeline.<command>` runs one."""
