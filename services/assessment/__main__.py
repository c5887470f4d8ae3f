from shared.service import main

from .app import definition

main(definition)
