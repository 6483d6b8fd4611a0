/**
 * Shared by the dev timing tools: whole-network jobs to time (a frozen model's forward, a ResNet-20
 * CIFAR training step), each with its clean-up. Call after `cnn.init`.
 * @module
 */
import * as cnn from "../../mod.ts";
import { sgdStep } from "../../bench/_util.ts";

/** A timed piece of work and how to free what it holds. */
export interface Job {
  name: string;
  run: () => Promise<void>;
  done: () => void;
}

/** The frozen forward of `model` on a constant input of `shape` (weights not initialized: timing only). */
export async function frozenJob(
  name: string,
  model: string,
  options: Record<string, unknown>,
  shape: readonly number[],
): Promise<Job> {
  const net = cnn.models.create(model, { ...options, init: false });
  net.eval();
  const fz = await cnn.nn.freeze(net, [...shape]);
  const x = cnn.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.1), [...shape]);
  return {
    name,
    run: async () => {
      const y = fz.forward(x);
      await y.toArray();
      y.dispose();
    },
    done: () => {
      x.dispose();
      fz.dispose();
      net.dispose();
    },
  };
}

/** One SGD step (forward, backward, update) of ResNet-20 CIFAR (shortcut B) on `batch` fixed images. */
export function trainJob(batch = 128): Job {
  const net = cnn.models.create("resnet20_cifar", { shortcut: "B" });
  const x = cnn.tensor(
    new Float32Array(batch * 3 * 32 * 32).map((_, i) => Math.sin(i * 0.01)),
    [batch, 3, 32, 32],
  );
  return {
    name: `resnet20_train_b${batch}`,
    run: sgdStep(net, x),
    done: () => {
      x.dispose();
      net.dispose();
    },
  };
}

/** The jobs both tools time: frozen ResNet-20 b1/b64, ResNet-18 b1, ResNet-50 b1, training at b128. */
export async function standardJobs(): Promise<Job[]> {
  const b = { shortcut: "B" };
  return [
    await frozenJob("r20_b1_frozen", "resnet20_cifar", b, [1, 3, 32, 32]),
    await frozenJob("r20_b64_frozen", "resnet20_cifar", b, [64, 3, 32, 32]),
    await frozenJob("r18_b1_frozen", "resnet18", {}, [1, 3, 224, 224]),
    await frozenJob("r50_b1_frozen", "resnet50", {}, [1, 3, 224, 224]),
    trainJob(128),
  ];
}
