"""One worker of tests/test_dist_kvstore.py (run as a script with the DMLC_* environment).

Trains one epoch of ``mlp`` on this worker's shard of digits through hybridzoo.train with a
``dist_sync`` kvstore and writes into the folder given as argv[1]: ``init-RANK.params``,
``final-RANK.params`` and ``shard-RANK.json`` (a fingerprint of every example in its shard).
Each rank initializes from its own seed, so equal final parameters show that the parameter
server synchronised them, not that the seeds agreed.
"""
import hashlib
import json
import os
import sys

import hybridzoo
import mxnet as mx
from hybridzoo import data, train

MODEL, BATCH, LR = "mlp", 32, 0.1


def main(out):
    kvstore = train.create_kvstore("dist_sync")
    rank, workers = kvstore.rank, kvstore.num_workers
    net = train.build_net(MODEL, ctx=mx.cpu(), seed=rank)
    recipe = train.Recipe.from_config(hybridzoo.get_config(MODEL), lr=LR, batch_size=BATCH, epochs=1)
    trainer = train.make_trainer(net, recipe, kvstore)
    train_loader, test_loader = data.image_loaders("digits", net.zoo_config, BATCH, shard=(rank, workers))
    net.save_parameters(os.path.join(out, f"init-{rank}.params"))
    history = train.fit(net, trainer, train_loader, test_loader, mx.cpu(), epochs=1,
                        scale=train.step_scale(kvstore), progress=False)
    net.save_parameters(os.path.join(out, f"final-{rank}.params"))
    shard = data.image_datasets("digits", net.zoo_config)[0].shard(workers, rank)
    fingerprints = [hashlib.sha1(image.tobytes()).hexdigest() + str(label) for image, label in shard]
    with open(os.path.join(out, f"shard-{rank}.json"), "w") as f:
        json.dump({"rank": rank, "workers": workers, "examples": fingerprints, "history": history}, f)


if __name__ == "__main__":
    main(sys.argv[1])
