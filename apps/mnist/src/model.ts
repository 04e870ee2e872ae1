/**
 * The classifier: an MLP 784-512-512-10, each hidden layer
 * Linear → BatchNorm → relu → Dropout.
 */
import type { Array } from "@refs/core";
import * as nn from "@refs/nn";

export interface MlpOptions {
  rngs: nn.Rngs;
  /** Dropout rate of the hidden layers (default 0.1). */
  dropout?: number;
  /**
   * BatchNorm momentum of the running statistics (default 0.9, not Flax's
   * 0.99: a short run on ~8,000 digits takes a few hundred steps, and with
   * 0.99 the running statistics would still remember their initial 0/1).
   */
  bnMomentum?: number;
}

export class Mlp extends nn.Module {
  linear1: nn.Linear;
  bn1: nn.BatchNorm;
  dropout1: nn.Dropout;
  linear2: nn.Linear;
  bn2: nn.BatchNorm;
  dropout2: nn.Dropout;
  linearOut: nn.Linear;

  constructor(din: number, dhidden: number, dout: number, { rngs, dropout = 0.1, bnMomentum = 0.9 }: MlpOptions) {
    super();
    this.linear1 = new nn.Linear(din, dhidden, { rngs });
    this.bn1 = new nn.BatchNorm(dhidden, { rngs, momentum: bnMomentum });
    this.dropout1 = new nn.Dropout(dropout, { rngs });
    this.linear2 = new nn.Linear(dhidden, dhidden, { rngs });
    this.bn2 = new nn.BatchNorm(dhidden, { rngs, momentum: bnMomentum });
    this.dropout2 = new nn.Dropout(dropout, { rngs });
    this.linearOut = new nn.Linear(dhidden, dout, { rngs });
  }

  /** Logits [batch, dout] for inputs [batch, din]. */
  call(x: Array): Array {
    x = this.dropout1.call(nn.relu(this.bn1.call(this.linear1.call(x))));
    x = this.dropout2.call(nn.relu(this.bn2.call(this.linear2.call(x))));
    return this.linearOut.call(x);
  }
}
