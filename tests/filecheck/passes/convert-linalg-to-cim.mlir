// RUN: xdsl-opt %s -p convert-linalg-to-cim | filecheck %s

// Hand-written linalg-on-tensors in the shapes torch-mlir emits them.

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
#bmm_a = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#bmm_b = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
#bmm_o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#w3 = affine_map<(d0, d1, d2) -> (d1, d2)>
#red3 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>

builtin.module {
  // A named matmul with a constant (transposed) weight and a bias added after:
  // the weight transpose folds, the product is a stationary cim.linear and
  // the add becomes its bias.
  // CHECK-LABEL: func.func @fc
  // CHECK:      %[[W:.*]] = cim.constant "linalg.weight" {value = dense<{{\[\[}}1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>} : tensor<2x2xf32>
  // CHECK-NEXT: %[[B:.*]] = cim.constant "linalg.bias" {value = dense<[5.000000e-01, -5.000000e-01]> : tensor<2xf32>} : tensor<2xf32>
  // CHECK-NEXT: %[[Y:.*]] = cim.linear %x, %[[W]], %[[B]] : tensor<3x2xf32>, tensor<2x2xf32>, tensor<2xf32> -> tensor<3x2xf32>
  // CHECK-NEXT: func.return %[[Y]]
  // CHECK-NOT:  linalg.
  func.func @fc(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
    %wt = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
    %b = arith.constant dense<[0.5, -0.5]> : tensor<2xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<2x2xf32>
    %w = linalg.transpose ins(%wt : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) permutation = [1, 0]
    %o = tensor.empty() : tensor<3x2xf32>
    %z = linalg.fill ins(%zero : f32) outs(%o : tensor<3x2xf32>) -> tensor<3x2xf32>
    %y = linalg.matmul ins(%x, %w : tensor<3x2xf32>, tensor<2x2xf32>) outs(%z : tensor<3x2xf32>) -> tensor<3x2xf32>
    %r = linalg.generic {indexing_maps = [#id2, #row, #id2], iterator_types = ["parallel", "parallel"]} ins(%y, %b : tensor<3x2xf32>, tensor<2xf32>) outs(%o : tensor<3x2xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %s = arith.addf %in, %in_1 : f32
      linalg.yield %s : f32
    } -> tensor<3x2xf32>
    func.return %r : tensor<3x2xf32>
  }

  // A generalised batch_matmul whose right operand is a constant broadcast
  // over the batch (how transformer linear layers arrive): cim.linear on the
  // 3-D input, one 4x2 weight.
  // CHECK-LABEL: func.func @bmm_weight
  // CHECK:      %[[W:.*]] = cim.constant "linalg.weight" {{.*}} : tensor<4x2xf32>
  // CHECK-NEXT: %{{.*}} = cim.linear %x, %[[W]] : tensor<2x3x4xf32>, tensor<4x2xf32> -> tensor<2x3x2xf32>
  // CHECK-NOT:  cim.matmul
  func.func @bmm_weight(%x: tensor<2x3x4xf32>) -> tensor<2x3x2xf32> {
    %w = arith.constant dense<[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]]> : tensor<4x2xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<2x4x2xf32>
    %wb = linalg.broadcast ins(%w : tensor<4x2xf32>) outs(%e : tensor<2x4x2xf32>) dimensions = [0]
    %o = tensor.empty() : tensor<2x3x2xf32>
    %z = linalg.fill ins(%zero : f32) outs(%o : tensor<2x3x2xf32>) -> tensor<2x3x2xf32>
    %y = linalg.generic {indexing_maps = [#bmm_a, #bmm_b, #bmm_o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x, %wb : tensor<2x3x4xf32>, tensor<2x4x2xf32>) outs(%z : tensor<2x3x2xf32>) {
    ^bb0(%a: f32, %b: f32, %acc: f32):
      %m = arith.mulf %a, %b : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    } -> tensor<2x3x2xf32>
    func.return %y : tensor<2x3x2xf32>
  }

  // Two run-time operands (attention's Q K^T): cim.matmul.
  // CHECK-LABEL: func.func @bmm_dynamic
  // CHECK:      %{{.*}} = cim.matmul %q, %k : tensor<2x3x4xf32>, tensor<2x4x5xf32> -> tensor<2x3x5xf32>
  func.func @bmm_dynamic(%q: tensor<2x3x4xf32>, %k: tensor<2x4x5xf32>) -> tensor<2x3x5xf32> {
    %zero = arith.constant 0.0 : f32
    %o = tensor.empty() : tensor<2x3x5xf32>
    %z = linalg.fill ins(%zero : f32) outs(%o : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
    %y = linalg.generic {indexing_maps = [#bmm_a, #bmm_b, #bmm_o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<2x3x4xf32>, tensor<2x4x5xf32>) outs(%z : tensor<2x3x5xf32>) {
    ^bb0(%a: f32, %b: f32, %acc: f32):
      %m = arith.mulf %a, %b : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    } -> tensor<2x3x5xf32>
    func.return %y : tensor<2x3x5xf32>
  }

  // ReLU as torch-mlir writes it (cmpf ugt + select), then a row maximum
  // (a reduction into a keepdim output).
  // CHECK-LABEL: func.func @relu_rowmax
  // CHECK:      %[[R:.*]] = cim.elementwise relu %x : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  // CHECK-NEXT: %{{.*}} = cim.reduce max %[[R]] {axes = array<i64: 2>, keepdims = 1 : i64} : tensor<2x3x4xf32> -> tensor<2x3x1xf32>
  func.func @relu_rowmax(%x: tensor<2x3x4xf32>) -> tensor<2x3x1xf32> {
    %zero = arith.constant 0.0 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %e = tensor.empty() : tensor<2x3x4xf32>
    %r = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<2x3x4xf32>) outs(%e : tensor<2x3x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %c = arith.cmpf ugt, %in, %zero : f32
      %s = arith.select %c, %in, %zero : f32
      linalg.yield %s : f32
    } -> tensor<2x3x4xf32>
    %o = tensor.empty() : tensor<2x3x1xf32>
    %init = linalg.fill ins(%ninf : f32) outs(%o : tensor<2x3x1xf32>) -> tensor<2x3x1xf32>
    %m = linalg.generic {indexing_maps = [#id3, #red3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%r : tensor<2x3x4xf32>) outs(%init : tensor<2x3x1xf32>) {
    ^bb0(%in: f32, %acc: f32):
      %mx = arith.maximumf %in, %acc : f32
      linalg.yield %mx : f32
    } -> tensor<2x3x1xf32>
    func.return %m : tensor<2x3x1xf32>
  }

  // A depthwise convolution (generalised depthwise_conv_2d_nchw_chw) after
  // a zero pad: cim.conv2d with group = channels, the pad absorbed.
  // CHECK-LABEL: func.func @depthwise
  // CHECK-NOT:  cim.pad
  // CHECK:      %{{.*}} = cim.conv2d %x, %{{.*}} {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 2 : i64} : tensor<1x2x5x5xf32>, tensor<2x1x3x3xf32> -> tensor<1x2x3x3xf32>
  func.func @depthwise(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32> {
    %zero = arith.constant 0.0 : f32
    %w = arith.constant dense<0.5> : tensor<2x3x3xf32>
    %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
    ^bb0(%i: index, %j: index, %k: index, %l: index):
      tensor.yield %zero : f32
    } : tensor<1x2x5x5xf32> to tensor<1x2x7x7xf32>
    %o = tensor.empty() : tensor<1x2x3x3xf32>
    %z = linalg.fill ins(%zero : f32) outs(%o : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
    %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d4, d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%p, %w : tensor<1x2x7x7xf32>, tensor<2x3x3xf32>) outs(%z : tensor<1x2x3x3xf32>) {
    ^bb0(%in: f32, %f: f32, %acc: f32):
      %m = arith.mulf %in, %f : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    } -> tensor<1x2x3x3xf32>
    func.return %y : tensor<1x2x3x3xf32>
  }

  // An embedding lookup (tensor.extract with a data-dependent index): a
  // cim.gather of the constant table.
  // CHECK-LABEL: func.func @embedding
  // CHECK:      %[[T:.*]] = cim.constant {{.*}} : tensor<4x2xf32>
  // CHECK:      %{{.*}} = cim.gather %[[T]], %ids {axis = 0 : i64} : tensor<4x2xf32>, tensor<3xi64> -> tensor<3x2xf32>
  func.func @embedding(%ids: tensor<3xi64>) -> tensor<3x2xf32> {
    %table = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]> : tensor<4x2xf32>
    %e = tensor.empty() : tensor<3x2xf32>
    %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>, #id2], iterator_types = ["parallel", "parallel"]} ins(%ids : tensor<3xi64>) outs(%e : tensor<3x2xf32>) {
    ^bb0(%in: i64, %out: f32):
      %i = arith.index_cast %in : i64 to index
      %j = linalg.index 1 : index
      %v = tensor.extract %table[%i, %j] : tensor<4x2xf32>
      linalg.yield %v : f32
    } -> tensor<3x2xf32>
    func.return %y : tensor<3x2xf32>
  }

  // A causal mask built from indices folds to a constant: no cim op
  // computes it, one cim.elementwise adds it.
  // CHECK-LABEL: func.func @causal_mask
  // CHECK:      %[[M:.*]] = cim.constant {{.*}}value = dense<{{\[\[}}0.000000e+00, -1.000000e+09], [0.000000e+00, 0.000000e+00]]> : tensor<2x2xf32>
  // CHECK-NEXT: %{{.*}} = cim.elementwise add %s, %[[M]] : tensor<2x2xf32>, tensor<2x2xf32> -> tensor<2x2xf32>
  // CHECK-NEXT: func.return
  func.func @causal_mask(%s: tensor<2x2xf32>) -> tensor<2x2xf32> {
    %zero = arith.constant 0.0 : f32
    %big = arith.constant -1.0e9 : f32
    %e = tensor.empty() : tensor<2x2xf32>
    %mask = linalg.generic {indexing_maps = [#id2], iterator_types = ["parallel", "parallel"]} outs(%e : tensor<2x2xf32>) {
    ^bb0(%out: f32):
      %i = linalg.index 0 : index
      %j = linalg.index 1 : index
      %c = arith.cmpi sgt, %j, %i : index
      %v = arith.select %c, %big, %zero : f32
      linalg.yield %v : f32
    } -> tensor<2x2xf32>
    %y = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%s, %mask : tensor<2x2xf32>, tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
    ^bb0(%a: f32, %b: f32, %out: f32):
      %t = arith.addf %a, %b : f32
      linalg.yield %t : f32
    } -> tensor<2x2xf32>
    func.return %y : tensor<2x2xf32>
  }
  // A product accumulated into a run-time tensor: cim.matmul, then the add.
  // CHECK-LABEL: func.func @accumulate
  // CHECK:      %[[P:.*]] = cim.matmul %a, %b : tensor<1x2x3xf32>, tensor<1x3x2xf32> -> tensor<1x2x2xf32>
  // CHECK-NEXT: %{{.*}} = cim.elementwise add %[[P]], %c : tensor<1x2x2xf32>, tensor<1x2x2xf32> -> tensor<1x2x2xf32>
  func.func @accumulate(%a: tensor<1x2x3xf32>, %b: tensor<1x3x2xf32>, %c: tensor<1x2x2xf32>) -> tensor<1x2x2xf32> {
    %y = linalg.generic {indexing_maps = [#bmm_a, #bmm_b, #bmm_o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%a, %b : tensor<1x2x3xf32>, tensor<1x3x2xf32>) outs(%c : tensor<1x2x2xf32>) {
    ^bb0(%x: f32, %w: f32, %acc: f32):
      %m = arith.mulf %x, %w : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    } -> tensor<1x2x2xf32>
    func.return %y : tensor<1x2x2xf32>
  }

  // A gather whose index loop comes first but indexes the table's second
  // dimension: cim.gather along axis 1, then a transpose into loop order.
  // CHECK-LABEL: func.func @gather_columns
  // CHECK:      %[[G:.*]] = cim.gather %t, %idx {axis = 1 : i64} : tensor<2x4xf32>, tensor<3xi64> -> tensor<2x3xf32>
  // CHECK-NEXT: %{{.*}} = cim.transpose %[[G]] {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  func.func @gather_columns(%t: tensor<2x4xf32>, %idx: tensor<3xi64>) -> tensor<3x2xf32> {
    %e = tensor.empty() : tensor<3x2xf32>
    %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>, #id2], iterator_types = ["parallel", "parallel"]} ins(%idx : tensor<3xi64>) outs(%e : tensor<3x2xf32>) {
    ^bb0(%in: i64, %out: f32):
      %i = arith.index_cast %in : i64 to index
      %j = linalg.index 1 : index
      %v = tensor.extract %t[%j, %i] : tensor<2x4xf32>
      linalg.yield %v : f32
    } -> tensor<3x2xf32>
    func.return %y : tensor<3x2xf32>
  }
  // ReLU6 as torch-mlir writes Clip (two cmpf + select): one cim clip.
  // CHECK-LABEL: func.func @relu6
  // CHECK:      %{{.*}} = cim.elementwise clip %x {alpha = 0.000000e+00 : f64, beta = 6.000000e+00 : f64} : tensor<8xf32> -> tensor<8xf32>
  // CHECK-NEXT: func.return
  func.func @relu6(%x: tensor<8xf32>) -> tensor<8xf32> {
    %lo = arith.constant 0.0 : f32
    %hi = arith.constant 6.0 : f32
    %e = tensor.empty() : tensor<8xf32>
    %y = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %c0 = arith.cmpf ult, %in, %lo : f32
      %a = arith.select %c0, %lo, %in : f32
      %c1 = arith.cmpf ugt, %a, %hi : f32
      %b = arith.select %c1, %hi, %a : f32
      linalg.yield %b : f32
    } -> tensor<8xf32>
    func.return %y : tensor<8xf32>
  }

  // torch-mlir wraps negative gather indices by the table size before the
  // lookup; cim.gather wraps them itself, so the wrap is dropped. A wrap by
  // another amount is kept (@wrap_other).
  // CHECK-LABEL: func.func @wrap_table
  // CHECK-NOT:  cim.elementwise
  // CHECK:      cim.gather %{{.*}}, %ids {axis = 0 : i64}
  // CHECK-LABEL: func.func @wrap_other
  // CHECK:      %[[I:.*]] = cim.elementwise where
  // CHECK:      cim.gather %{{.*}}, %[[I]] {axis = 0 : i64}
  func.func @wrap_table(%ids: tensor<3xi64>) -> tensor<3x2xf32> {
    %zero = arith.constant 0 : i64
    %n = arith.constant 6 : i64
    %table = arith.constant dense<[[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0], [8.0, 9.0], [10.0, 11.0]]> : tensor<6x2xf32>
    %e = tensor.empty() : tensor<3xi64>
    %w = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%ids : tensor<3xi64>) outs(%e : tensor<3xi64>) {
    ^bb0(%in: i64, %out: i64):
      %neg = arith.cmpi slt, %in, %zero : i64
      %up = arith.addi %in, %n : i64
      %r = arith.select %neg, %up, %in : i64
      linalg.yield %r : i64
    } -> tensor<3xi64>
    %o = tensor.empty() : tensor<3x2xf32>
    %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%w : tensor<3xi64>) outs(%o : tensor<3x2xf32>) {
    ^bb0(%in: i64, %out: f32):
      %i = arith.index_cast %in : i64 to index
      %j = linalg.index 1 : index
      %v = tensor.extract %table[%i, %j] : tensor<6x2xf32>
      linalg.yield %v : f32
    } -> tensor<3x2xf32>
    func.return %y : tensor<3x2xf32>
  }
  func.func @wrap_other(%ids: tensor<3xi64>) -> tensor<3x2xf32> {
    %zero = arith.constant 0 : i64
    %n = arith.constant 4 : i64
    %table = arith.constant dense<[[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0], [8.0, 9.0], [10.0, 11.0]]> : tensor<6x2xf32>
    %e = tensor.empty() : tensor<3xi64>
    %w = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%ids : tensor<3xi64>) outs(%e : tensor<3xi64>) {
    ^bb0(%in: i64, %out: i64):
      %neg = arith.cmpi slt, %in, %zero : i64
      %up = arith.addi %in, %n : i64
      %r = arith.select %neg, %up, %in : i64
      linalg.yield %r : i64
    } -> tensor<3xi64>
    %o = tensor.empty() : tensor<3x2xf32>
    %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%w : tensor<3xi64>) outs(%o : tensor<3x2xf32>) {
    ^bb0(%in: i64, %out: f32):
      %i = arith.index_cast %in : i64 to index
      %j = linalg.index 1 : index
      %v = tensor.extract %table[%i, %j] : tensor<6x2xf32>
      linalg.yield %v : f32
    } -> tensor<3x2xf32>
    func.return %y : tensor<3x2xf32>
  }
  // A product of two constants (e.g. a weight pre-multiplied) folds.
  // CHECK-LABEL: func.func @folded_product
  // CHECK-NEXT: %[[C:.*]] = cim.constant "cst{{.*}}" {value = dense<{{\[\[}}1.100000e+01, 1.600000e+01]]> : tensor<1x2xf32>}
  // CHECK-NEXT: %{{.*}} = cim.elementwise add %x, %[[C]]
  func.func @folded_product(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
    %a = arith.constant dense<[[1.0, 2.0, 3.0]]> : tensor<1x3xf32>
    %b = arith.constant dense<[[1.0, 2.0], [2.0, 1.0], [2.0, 4.0]]> : tensor<3x2xf32>
    %zero = arith.constant 0.0 : f32
    %o = tensor.empty() : tensor<1x2xf32>
    %z = linalg.fill ins(%zero : f32) outs(%o : tensor<1x2xf32>) -> tensor<1x2xf32>
    %p = linalg.matmul ins(%a, %b : tensor<1x3xf32>, tensor<3x2xf32>) outs(%z : tensor<1x2xf32>) -> tensor<1x2xf32>
    %y = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%x, %p : tensor<1x2xf32>, tensor<1x2xf32>) outs(%o : tensor<1x2xf32>) {
    ^bb0(%u: f32, %v: f32, %out: f32):
      %t = arith.addf %u, %v : f32
      linalg.yield %t : f32
    } -> tensor<1x2xf32>
    func.return %y : tensor<1x2xf32>
  }
  // Per-column constants subtracted from and divided into a product fold
  // into the linear's bias and weight (as a batch norm after a conv does).
  // CHECK-LABEL: func.func @fc_affine
  // CHECK:      %{{.*}} = cim.linear %x, %{{.*}}, %{{.*}} : tensor<3x2xf32>, tensor<2x2xf32>, tensor<2xf32> -> tensor<3x2xf32>
  // CHECK-NEXT: func.return
  func.func @fc_affine(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
    %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
    %m = arith.constant dense<[1.0, -1.0]> : tensor<2xf32>
    %d = arith.constant dense<[2.0, 4.0]> : tensor<2xf32>
    %zero = arith.constant 0.0 : f32
    %o = tensor.empty() : tensor<3x2xf32>
    %z = linalg.fill ins(%zero : f32) outs(%o : tensor<3x2xf32>) -> tensor<3x2xf32>
    %y = linalg.matmul ins(%x, %w : tensor<3x2xf32>, tensor<2x2xf32>) outs(%z : tensor<3x2xf32>) -> tensor<3x2xf32>
    %r = linalg.generic {indexing_maps = [#id2, #row, #row, #id2], iterator_types = ["parallel", "parallel"]} ins(%y, %m, %d : tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>) outs(%o : tensor<3x2xf32>) {
    ^bb0(%in: f32, %mean: f32, %div: f32, %out: f32):
      %s = arith.subf %in, %mean : f32
      %q = arith.divf %s, %div : f32
      linalg.yield %q : f32
    } -> tensor<3x2xf32>
    func.return %r : tensor<3x2xf32>
  }
  // Two layers without source names: every constant keeps its own symbol
  // (the weight store's key).
  // CHECK-LABEL: func.func @two_layers
  // CHECK-DAG:  cim.constant "linalg.bias" {{.*}} : tensor<2xf32>
  // CHECK-DAG:  cim.constant "linalg.bias_1" {{.*}} : tensor<2xf32>
  func.func @two_layers(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
    %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
    %b = arith.constant dense<[0.5, -0.5]> : tensor<2xf32>
    %c = arith.constant dense<[1.5, 2.5]> : tensor<2xf32>
    %zero = arith.constant 0.0 : f32
    %o = tensor.empty() : tensor<3x2xf32>
    %z = linalg.fill ins(%zero : f32) outs(%o : tensor<3x2xf32>) -> tensor<3x2xf32>
    %y1 = linalg.matmul ins(%x, %w : tensor<3x2xf32>, tensor<2x2xf32>) outs(%z : tensor<3x2xf32>) -> tensor<3x2xf32>
    %h = linalg.generic {indexing_maps = [#id2, #row, #id2], iterator_types = ["parallel", "parallel"]} ins(%y1, %b : tensor<3x2xf32>, tensor<2xf32>) outs(%o : tensor<3x2xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %s = arith.addf %in, %in_1 : f32
      linalg.yield %s : f32
    } -> tensor<3x2xf32>
    %y2 = linalg.matmul ins(%h, %w : tensor<3x2xf32>, tensor<2x2xf32>) outs(%z : tensor<3x2xf32>) -> tensor<3x2xf32>
    %r = linalg.generic {indexing_maps = [#id2, #row, #id2], iterator_types = ["parallel", "parallel"]} ins(%y2, %c : tensor<3x2xf32>, tensor<2xf32>) outs(%o : tensor<3x2xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %s = arith.addf %in, %in_1 : f32
      linalg.yield %s : f32
    } -> tensor<3x2xf32>
    func.return %r : tensor<3x2xf32>
  }
}
