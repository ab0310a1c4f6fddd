"""A site, not a box: edge boxes and a central identity service on a broker.

* :mod:`~mlfn_keras.tracking.site.broker`: the thin :class:`~mlfn_keras.tracking.site.broker.Broker`
  interface and its Redis Streams implementation;
* :mod:`~mlfn_keras.tracking.site.messages`: what edges and the central say
  (keys, edge messages, id updates) and the wire format;
* :mod:`~mlfn_keras.tracking.site.ordering`: duplicates, holes, the watermark
  and late ticks (no I/O);
* :mod:`~mlfn_keras.tracking.site.edge`: an edge box (``mlfn-edge``);
* :mod:`~mlfn_keras.tracking.site.central`: the central (``mlfn-central``);
* :mod:`~mlfn_keras.tracking.site.local`: a private ``redis-server`` for tests,
  benchmarks and trying a site on one machine;
* :mod:`~mlfn_keras.tracking.site.cli`: the two command lines.

The edge runs the edge half of the tracker and the central the central half
(:mod:`mlfn_keras.tracking.core.edge`, :mod:`mlfn_keras.tracking.core.central`),
the same code the single box runs, so a site gives the same answer.
"""
