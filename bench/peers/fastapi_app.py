# SPDX-License-Identifier: MIT
"""Peer model server for bench/serving.py: FastAPI + uvicorn speaking the V2 JSON protocol.

Written the way a FastAPI user would serve an XGBoost model: pydantic request models, numpy
conversion, booster.inplace_predict, a dict response. The same model file gyre serves.
Environment: PEER_MODEL_FILE (XGBoost JSON), PEER_NTHREAD (XGBoost nthread, default 1).
"""
import os
from typing import Any, Dict, List, Optional

import numpy as np
import xgboost as xgb
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

booster = xgb.Booster()
booster.load_model(os.environ["PEER_MODEL_FILE"])
booster.set_param({"nthread": int(os.environ.get("PEER_NTHREAD", "1"))})


class InferInput(BaseModel):
    name: str
    shape: List[int]
    datatype: str
    data: List[float]
    parameters: Optional[Dict[str, Any]] = None


class InferRequest(BaseModel):
    id: Optional[str] = None
    inputs: List[InferInput]
    outputs: Optional[List[Dict[str, Any]]] = None
    parameters: Optional[Dict[str, Any]] = None


app = FastAPI()


@app.get("/v2/health/ready")
async def ready():
    return {"ready": True}


@app.post("/v2/models/{model_name}/infer")
async def infer(model_name: str, req: InferRequest):
    if model_name != "m":
        raise HTTPException(status_code=404, detail="model not found")
    inp = req.inputs[0]
    if inp.datatype != "FP32" or len(inp.shape) != 2:
        raise HTTPException(status_code=400, detail="expected FP32 [N, 28]")
    x = np.asarray(inp.data, dtype=np.float32).reshape(inp.shape)
    p = booster.inplace_predict(x)
    return {"model_name": "m",
            "outputs": [{"name": "output-0", "shape": [int(p.shape[0])], "datatype": "FP32",
                         "data": p.tolist()}]}
