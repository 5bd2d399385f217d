"""Unit tests of avscene_models: ``cd models && /usr/bin/python3 -m unittest discover -s tests -t .``
(test/models/toolkit.test.ts runs each module from node's test runner)."""
import torch

torch.set_num_threads(1)
